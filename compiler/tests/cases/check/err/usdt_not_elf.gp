usdt:./notes.txt:app:request { }
