/* The other file's counter, for @var("counter@gvars2.c"). */
static int counter = 100;

int bump(int k)
{
	counter += k;
	return counter;
}
