/* The best SIMD level of this CPU against the scalar build, for every metric, one query and a
 * batch (over two threads): same ids, scores within 1e-3. Built and run by
 * tools/check_portable.sh with each compiler it checks (arm64 under qemu, Windows under Wine).
 * Exit status 0 when everything matches. */
#include "mastra_search.h"
#include <stdio.h>
#include <stdlib.h>
int main(){
  int n=1003, d=37, k=7, m=3; float *X=malloc(sizeof(float)*n*d), *Q=malloc(sizeof(float)*m*d), qs[3];
  unsigned s=1; for(int i=0;i<n*d;i++){ s=s*1103515245u+12345u; X[i]=((int)((s>>8)%2000)-1000)/500.0f; }
  for(int i=0;i<m*d;i++){ s=s*1103515245u+12345u; Q[i]=((int)((s>>8)%2000)-1000)/500.0f; }
  for(int q=0;q<m;q++){ qs[q]=0; for(int j=0;j<d;j++) qs[q]+=Q[q*d+j]*Q[q*d+j]; }
  int bad=0;
  for(int metric=0;metric<3;metric++){
    mt_task t={0}; t.matrix=X; t.kind=MT_F32; t.n=n; t.d=d; t.queries=Q; t.n_queries=m; t.metric=metric; t.query_sq=qs;
    int64_t ia[21], ib[21]; float sa[21], sb[21];
    mt_search(&t,k,2,MASTRA_SIMD_SCALAR,ia,sa); mt_search(&t,k,2,mastra_simd_detected(),ib,sb);
    for(int i=0;i<m*k;i++){ if(ia[i]!=ib[i] || (sa[i]-sb[i])>1e-3f || (sb[i]-sa[i])>1e-3f) bad++; }
    t.n_queries=1; mt_search(&t,k,1,MASTRA_SIMD_SCALAR,ia,sa); mt_search(&t,k,1,mastra_simd_detected(),ib,sb);
    for(int i=0;i<k;i++){ if(ia[i]!=ib[i]) bad++; }
  }
  printf("level=%s mismatches=%d\n", mastra_simd_name(mastra_simd_detected()), bad);
  return bad!=0;
}
