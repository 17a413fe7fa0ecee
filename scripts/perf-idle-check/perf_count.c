/* perf_count: count the sock:inet_sock_set_state records perf delivers, per CPU ring, split by
 * whether the idle task (pid 0) was current. Independent of tcpscope (plain perf_event_open, one
 * event per CPU, any pid), so that scripts/perf-idle-check.sh can tell the kernel's behaviour
 * from trace's. Usage: perf_count TRACEPOINT_ID SECONDS. Prints "ring C: N task, M idle". */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <signal.h>
static volatile int stop;
static void h(int s){stop=1;}
int main(int argc,char**argv){
  int id=atoi(argv[1]); int secs=atoi(argv[2]);
  int fds[2]; void*rings[2]; /* CPUs 0 and 1 */ size_t pg=4096, n=64;
  for(int c=0;c<2;c++){
    struct perf_event_attr a; memset(&a,0,sizeof a);
    a.size=sizeof a; a.type=PERF_TYPE_TRACEPOINT; a.config=id; a.sample_period=1;
    a.sample_type=PERF_SAMPLE_TID|PERF_SAMPLE_TIME|PERF_SAMPLE_CPU|PERF_SAMPLE_RAW;
    a.wakeup_events=1;
    fds[c]=syscall(SYS_perf_event_open,&a,-1,c,-1,0);
    if(fds[c]<0){perror("open");return 1;}
    rings[c]=mmap(0,pg*(n+1),PROT_READ|PROT_WRITE,MAP_SHARED,fds[c],0);
  }
  signal(SIGALRM,h); alarm(secs);
  long cnt[2][2]={{0}};
  while(!stop){
    usleep(10000);
    for(int c=0;c<2;c++){
      struct perf_event_mmap_page*mp=rings[c];
      uint64_t head=__atomic_load_n(&mp->data_head,__ATOMIC_ACQUIRE), tail=mp->data_tail;
      char*d=(char*)rings[c]+pg;
      while(tail<head){
        struct perf_event_header*hd=(void*)(d+(tail%(pg*n)));
        if(hd->type==PERF_RECORD_SAMPLE){
          uint32_t pid=*(uint32_t*)((char*)hd+8);
          uint32_t cpu=*(uint32_t*)((char*)hd+8+8+8);
          cnt[c][pid==0]++;
          (void)cpu;
        }
        tail+=hd->size;
      }
      __atomic_store_n(&mp->data_tail,tail,__ATOMIC_RELEASE);
    }
  }
  for(int c=0;c<2;c++) printf("ring %d: %ld task, %ld idle\n",c,cnt[c][0],cnt[c][1]);
  return 0;
}
