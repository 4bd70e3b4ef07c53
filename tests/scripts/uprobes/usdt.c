/* USDT marks with arguments of several sizes and signs (sys/sdt.h). */
#include <sys/sdt.h>

int main(void)
{
	char name[16] = "marked";
	for (int i = 0; i < 3; i++) {
		long big = -5000000000L + i;
		unsigned char small = 250 + i;
		short neg = -1 - i;
		STAP_PROBE4(demo, step, i, big, small, neg);
	}
	STAP_PROBE1(demo, named, name);
	STAP_PROBE(demo, plain);
	return 0;
}
