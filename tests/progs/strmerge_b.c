const char *strmerge_other(void) { return "ldpy merges identical string literals"; }
double strmerge_other_double(void)
{
    volatile double x = 1.0;
    return x * 1234.56789012345678;
}
