#include <unistd.h>
#include <stdio.h>
int main(void) { return getppid() > 0 ? 0 : 1; }
