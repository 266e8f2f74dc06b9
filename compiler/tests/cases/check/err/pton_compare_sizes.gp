// An IPv4 and an IPv6 address are arrays of different sizes: == cannot compare them.
BEGIN { $a = pton("1.2.3.4"); $b = pton("::1"); if ($a == $b) { exit(); } }
