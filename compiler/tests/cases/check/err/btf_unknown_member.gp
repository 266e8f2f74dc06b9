BEGIN { printf("%d\n", curtask->pidd); }
tracepoint:skb:kfree_skb { $sk = (struct sock *)args->skbaddr; @f = $sk->__sk_common.skc_famly; }
