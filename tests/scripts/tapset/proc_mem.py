# For proc_mem.stp: reads its own /proc/self/statm and passes each number,
# then the CPU count, as the offset of an lseek on the bad fd -100-i.
import os
with open("/proc/self/statm") as f:
    v = [int(x) for x in f.read().split()]
for i, n in enumerate(v + [os.cpu_count()]):
    try:
        os.lseek(-100 - i, n, 0)
    except OSError:
        pass
