usdt:./srv:probe { }
