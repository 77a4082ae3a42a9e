// The kernel floor of a fork-and-try probe (issue 10): for each kind of
// namespace the doctor's probes use, the median time from fork to the
// child's report and to the child reaped (its namespaces torn down), N
// rounds, C children at once. Build and run: tests/nsfloor.sh [N] [C].
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <fcntl.h>

static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static char dir[64];
static int kind;
static void mapself(void){
  char b[64]; int fd; uid_t u=geteuid(); gid_t g=getegid();
  fd=open("/proc/self/setgroups",O_WRONLY); if(fd>=0){write(fd,"deny",4);close(fd);}
  snprintf(b,sizeof b,"0 %u 1\n",u); fd=open("/proc/self/uid_map",O_WRONLY); write(fd,b,strlen(b)); close(fd);
  snprintf(b,sizeof b,"0 %u 1\n",g); fd=open("/proc/self/gid_map",O_WRONLY); write(fd,b,strlen(b)); close(fd);
}
static int body(void){
  switch(kind){
  case 0: return 0;
  case 1: return unshare(CLONE_NEWUSER);
  case 2: return unshare(CLONE_NEWUTS);
  case 3: return unshare(CLONE_NEWNS);
  case 4: if(unshare(CLONE_NEWNS)) return -1; mount(0,"/",0,MS_REC|MS_PRIVATE,0); return mount(dir,dir,0,MS_BIND,0);
  case 5: if(unshare(CLONE_NEWNS)) return -1; mount(0,"/",0,MS_REC|MS_PRIVATE,0); if(mount(dir,dir,0,MS_BIND,0)) return -1; return umount2(dir,MNT_DETACH);
  case 6: { if(unshare(CLONE_NEWNS|CLONE_NEWPID)) return -1; mount(0,"/",0,MS_REC|MS_PRIVATE,0);
      pid_t p=fork(); if(p==0){ _exit(mount("proc",dir,"proc",MS_NOSUID|MS_NODEV|MS_NOEXEC,0)?1:0);} int st; waitpid(p,&st,0); return st; }
  case 7: if(unshare(CLONE_NEWNS|CLONE_NEWUSER)) return -1; mapself(); mount(0,"/",0,MS_REC|MS_PRIVATE,0); return mount(dir,dir,0,MS_BIND,0);
  case 8: if(unshare(CLONE_NEWNS|CLONE_NEWPID)) return -1; { pid_t p=fork(); if(p==0) _exit(0); int st; waitpid(p,&st,0);} return 0;
  }
  return -1;
}
static const char *names[]={"fork only","user ns","uts ns","mount ns","mount ns + bind mount","mount ns + bind + umount(MNT_DETACH)","mount+pid ns + proc mount (pid 1)","user+mount ns + bind mount","mount+pid ns, pid 1 exits"};
int main(int argc,char**argv){
  int n=argc>1?atoi(argv[1]):30, conc=argc>2?atoi(argv[2]):1;
  snprintf(dir,sizeof dir,"/tmp/.nsfloor-%d",getpid()); mkdir(dir,0700);
  printf("%-40s %9s %9s   (median of %d, %d at once)\n","child","report","reaped",n,conc);
  for(kind=0;kind<9;kind++){
    double rep[200],rea[200];
    for(int i=0;i<n;i++){
      int fds[16][2]; pid_t pids[16]; double t0=now(), tr=0;
      for(int c=0;c<conc;c++){ pipe(fds[c]); pids[c]=fork(); if(pids[c]==0){ close(fds[c][0]); char r=body()==0?'1':'0'; write(fds[c][1],&r,1); _exit(0);} close(fds[c][1]); }
      for(int c=0;c<conc;c++){ char r; read(fds[c][0],&r,1); close(fds[c][0]); }
      tr=now();
      for(int c=0;c<conc;c++){ int st; waitpid(pids[c],&st,0);} 
      rep[i]=tr-t0; rea[i]=now()-t0;
    }
    int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
    qsort(rep,n,sizeof(double),cmp); qsort(rea,n,sizeof(double),cmp);
    printf("%-40s %7.2f ms %7.2f ms\n",names[kind],rep[n/2],rea[n/2]);
  }
  rmdir(dir);
  return 0;
}
