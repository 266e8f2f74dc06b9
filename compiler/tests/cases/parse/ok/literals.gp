BEGIN { @hex = 0xff; @big = 0xFFFF_FFFF; @us = 1_000_000; @s = 1s; @ms = 100ms; @u = 5us; @ns = 10ns; }
