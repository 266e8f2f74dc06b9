#pragmatic once
BEGIN { exit(); }
