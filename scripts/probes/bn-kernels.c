/* Times the native NHWC batch-norm kernels alone (fastest of 30 calls per shape), for before/after comparisons:
 *   gcc -O3 -march=x86-64-v3 -mtune=generic -ffp-contract=off -fno-math-errno -fopenmp -o bn scripts/probes/bn-kernels.c src/main/c/r4jkernels.c -lm
 *   OMP_NUM_THREADS=1 ./bn */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <omp.h>
void r4j_bn_forward_train_nhwc(intptr_t xp, intptr_t yp, int64_t rows, int c, intptr_t gammap, intptr_t betap, double eps, int relu, double *mean, double *var);
void r4j_bn_normalize_nhwc(intptr_t xp, intptr_t yp, int64_t rows, int c, intptr_t gammap, intptr_t betap, double eps, int relu, const double *mean, const double *var);
void r4j_bn_backward_nhwc(intptr_t xp, intptr_t yp, int relu, intptr_t dyp, double scale, int64_t rows, int c, const double *mean, const double *var, intptr_t gammap, double eps, intptr_t dxp, double *dGamma, double *dBeta, const float *rowScale, int hw);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
int main(void){
  int shapes[][4]={{64,32,32,16},{64,16,16,32},{64,8,8,64},{32,56,56,64}};
  for(int s=0;s<4;s++){
    int n=shapes[s][0],h=shapes[s][1],w=shapes[s][2],c=shapes[s][3]; int64_t rows=(int64_t)n*h*w, len=rows*c;
    float *x=aligned_alloc(64,len*4),*y=aligned_alloc(64,len*4),*dy=aligned_alloc(64,len*4),*dx=aligned_alloc(64,len*4),*g=malloc(c*4),*b=malloc(c*4);
    for(int64_t i=0;i<len;i++){x[i]=(float)((i*7919%1000)/250.0-1.7);dy[i]=(float)((i*104729%1000)/500.0-1.0);}
    for(int i=0;i<c;i++){g[i]=1.0f+i*0.01f;b[i]=0.1f;}
    double m[512],v[512],dg[512],db[512];
    double best[4]={1e9,1e9,1e9,1e9};
    for(int r=0;r<30;r++){
      double t0=now(); r4j_bn_forward_train_nhwc((intptr_t)x,(intptr_t)y,rows,c,(intptr_t)g,(intptr_t)b,1e-5,1,m,v);
      double t1=now(); r4j_bn_normalize_nhwc((intptr_t)x,(intptr_t)y,rows,c,(intptr_t)g,(intptr_t)b,1e-5,1,m,v);
      double t2=now(); r4j_bn_backward_nhwc((intptr_t)x,(intptr_t)y,1,(intptr_t)dy,1.0,rows,c,m,v,(intptr_t)g,1e-5,(intptr_t)dx,dg,db,NULL,h*w);
      double t3=now(); memcpy(dx,x,len*4);
      double t4=now();
      double d[4]={t1-t0,t2-t1,t3-t2,t4-t3}; for(int k=0;k<4;k++) if(d[k]<best[k]) best[k]=d[k];
    }
    double cs=0; for(int64_t i=0;i<len;i+=97) cs+=dx[i];
    printf("[%d,%d,%d,%d] %.1f MB: fwd_train %.3f (normalize %.3f, stats %.3f) bwd %.3f memcpy %.3f ms  (chk %.3f dg0 %.4f)\n",n,h,w,c,len*4/1e6,best[0],best[1],best[0]-best[1],best[2],best[3],cs,dg[0]);
  }
}
