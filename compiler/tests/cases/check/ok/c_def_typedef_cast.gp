// args: 5
// A typedef name alone in parentheses casts when an operand follows at once (`(byte_t)x`); a
// name in parentheses before an operator stays a value (`(pid) - 1`).
typedef unsigned char byte_t;
BEGIN {
  @a = (byte_t)300;
  @b = (size_t)nsecs + (pid_t)$1 + (uint32_t)(pid + 1);
  @c = (pid) - 1;
  exit();
}
