// `#define` (object-like and function-like), `#ifdef`/`#ifndef`/`#if`/`#elif`/`#else`: directive
// lines are blanked in place, so the spans below still point at this text.
#define LIMIT 100
#define TWICE(x) ((x) * 2)
#define FAMILY AF_INET
#ifndef BPFTRACE_HAVE_BTF
struct dropped { int never_parsed; }
#else
#define HAVE 1
#endif
#if defined(HAVE) && LIMIT > 10
BEGIN { @a = TWICE(LIMIT + 1); @b = HAVE; }
#elif 1
BEGIN { @never = 1; }
#endif
