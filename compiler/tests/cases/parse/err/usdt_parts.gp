usdt:./app:app:request:extra { }
