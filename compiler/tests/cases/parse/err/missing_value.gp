BEGIN { @x = ; }
