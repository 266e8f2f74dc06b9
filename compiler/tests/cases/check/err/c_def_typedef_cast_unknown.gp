typedef unsigned char byte_t;
BEGIN { @a = (bytet)300; @b = (uint23_t)1; }
