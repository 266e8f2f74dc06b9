// runqlen.bt and tcpdrop.bt: casts to kernel structs, struct members by value, an anonymous
// union's array indexed, a kernel enumerator by name.
profile:hz:99 {
  $task = (struct task_struct *)curtask;
  $my_q = (struct cfs_rq *)$task->se.cfs_rq;
  @len = lhist($my_q->nr_queued, 0, 100, 1);
}
tracepoint:skb:kfree_skb {
  $skb = (struct sk_buff *)args->skbaddr;
  $sk = ((struct sock *) $skb->sk);
  if (args->reason > SKB_DROP_REASON_NOT_SPECIFIED && $sk->__sk_common.skc_family == 10) {
    printf("%d %d %x\n", $sk->__sk_common.skc_num, $sk->__sk_common.skc_state,
      $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3]);
  }
}
