uretprobe:/bin/cpie:ti* { @ = *uaddr("counter"); }
