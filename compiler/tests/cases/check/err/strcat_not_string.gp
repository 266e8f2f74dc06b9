// strcat takes strings; an integer is refused where it is written.
BEGIN { @ = strcat(pid, "x"); }
