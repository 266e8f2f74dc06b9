// target
// A watchpoint at the address the target's `increment` gets as its first argument (bpftrace's
// `watchpoint:FUNC+argN`): attached at run time, at each new address.
watchpoint:increment+arg0:4:w { @ = count(); }
asyncwatchpoint:increment+arg1:8:rw { @by[comm] = count(); }
