BEGIN { } /* never closed
