// bpftrace: "The ++ operator can not be used on expressions of type 'count'"
BEGIN { @c = count(); @d = @c++; }
