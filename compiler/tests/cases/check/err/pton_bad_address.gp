// Not an address: a `.` makes it IPv4 (as inet_pton and bpftrace), else a `:` makes it IPv6.
BEGIN { print(pton("1.2.3")); print(pton("abc")); print(pton("::ffff:1.2.3.4")); print(pton("1::2::3")); }
