BEGIN { else { } }
