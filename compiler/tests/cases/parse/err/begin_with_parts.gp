BEGIN:x { }
