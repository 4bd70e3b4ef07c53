/* Variables for DWARF $var tests: parameters, locals, a struct chain,
 * char arrays, globals, an enum; built -g -O0.  Strings live on the stack:
 * a uprobe cannot fault in a page of .rodata the program has not read yet. */
struct inner {
	short s;
	unsigned char tag[8];
};

struct point {
	int x;
	long y;
	struct inner in;
	struct point *next;
	const char *label;
};

enum color { RED, GREEN = 5 };

int gcount = 7;
static long slocal = -3;

long add(int a, long b, const char *name, struct point *p, enum color c, unsigned char u)
{
	long sum = a + b;
	int arr[4] = { 1, 2, 3, 4 };
	sum += arr[a & 3];
	return sum + p->x + (c == GREEN) - (u == 200);
}

void nothing(void)
{
}

int twice(int k, short j)
{
	return 2 * k + j;
}

int main(void)
{
	char name[8] = "hello", l1[8] = "first", l2[8] = "second";
	struct point q = { 10, 20, { -5, "tagq" }, 0, l2 };
	struct point p = { 1, -2, { 3, "tagp" }, &q, l1 };
	gcount++;
	slocal--;
	long r = add(3, -40, name, &p, GREEN, 200);
	nothing();
	return r != -32 || twice(21, -1) != 41;
}
