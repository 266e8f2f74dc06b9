// rawtracepoint:[MODULE:]NAME, at most two parts.
rawtracepoint:a:b:c { }
