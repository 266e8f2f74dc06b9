BEGIN { $s = (struct no_such_struct *)curtask; @x = $s->field; }
