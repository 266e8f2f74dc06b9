printf("hi");
