// Read bandwidth of this machine: sums a 1 GiB float array (8 independent accumulators, vectorised),
// on 1 thread and on 2 threads; prints "threads GB/s" lines, best of 5 passes.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (1UL << 30)
static float *data;
static size_t count;

typedef struct { size_t from, to; float sum; } Part;

static void *scan(void *arg) {
  Part *p = arg;
  float acc[16] = {0};
  for (size_t i = p->from; i < p->to; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += data[i + j];
  float s = 0;
  for (int j = 0; j < 16; j++) s += acc[j];
  p->sum = s;
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  count = BYTES / sizeof(float);
  data = aligned_alloc(64, BYTES);
  for (size_t i = 0; i < count; i++) data[i] = (float)(i & 1023);
  for (int threads = 1; threads <= 2; threads++) {
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
      pthread_t t[2];
      Part parts[2];
      double t0 = now();
      for (int k = 0; k < threads; k++) {
        parts[k].from = count / threads * k;
        parts[k].to = count / threads * (k + 1);
        pthread_create(&t[k], NULL, scan, &parts[k]);
      }
      float total = 0;
      for (int k = 0; k < threads; k++) {
        pthread_join(t[k], NULL);
        total += parts[k].sum;
      }
      double gbs = BYTES / (now() - t0) / 1e9;
      if (gbs > best) best = gbs;
      if (total == -1) puts("");
    }
    printf("%d %.2f\n", threads, best);
  }
  return 0;
}
