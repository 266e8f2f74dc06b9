interval:ms:10 { @c = count(); @s = sum(cpu); @a = avg(cpu); @mn = min(cpu); @mx = max(cpu); @st = stats(cpu); @h = hist(cpu); @l = lhist(cpu, 0, 64, 4); }
