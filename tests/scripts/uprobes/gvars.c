/* Globals for @var tests: a static of the same name in two files, a
 * global struct with a string and a chain; built -g -O0, as a PIE. */
struct config {
	int level;
	const char *name;
	struct config *next;
};

static int counter = 11;
static struct config base = { 1, 0, 0 };
struct config cfg = { 2, 0, &base };

int bump(int k);

void work(int n)
{
	counter += n;
}

int main(void)
{
	char name[8] = "cfgname", bname[8] = "base";
	cfg.name = name;
	base.name = bname;
	work(5);
	return bump(2) != 102 || counter != 16;
}
