BEGIN { @t = nsec; }
