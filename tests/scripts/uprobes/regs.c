/* Register arguments at -O2, seven and eight on the stack. */
#include <stdio.h>

__attribute__((noinline)) long mix(int a, unsigned b, long c, const char *s, short d, char e, long g, int h)
{
	__asm__ volatile("" ::: "memory");
	return a + b + c + d + e + g + h + (s[0] == 'x');
}

__attribute__((noinline)) int fail(int x)
{
	__asm__ volatile("");
	return -x;
}

int main(void)
{
	char buf[8] = "xyz";
	long m = mix(-7, 4000000000u, -9000000000L, buf, -3, 65, 77, -88);
	return m != -4999999955L || fail(2) != -2;
}
