BEGIN { printf("bad \q escape"); }
