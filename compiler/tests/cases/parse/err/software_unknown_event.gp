software:pagefaults:1 { @ = count(); }
