software:page-faults:0 { @ = count(); }
