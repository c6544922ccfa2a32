# written by bench_gossip_sim; gnuplot [-e "dir='DIR'"] gossip_sim.gp (DIR: where the csv is, default .)
if (!exists("dir")) dir = '.'
set terminal pngcairo size 1500,480 font ',10'
set output dir.'/gossip_sim.png'
set datafile separator ','
set datafile missing 'NaN'
set key top left
set logscale x
set grid
set xlabel 'cluster size N (nodes)'
set yrange [0:*]
f = dir.'/gossip_sim.csv'
set multiplot layout 1,3 title 'swarm membership (SWIM + Lifeguard) on the simulator: LAN tuning, 1-5 ms latency, no loss'
set title 'bandwidth per node, steady state'
set ylabel 'bytes/s per node'
plot f using 'n':'bytes_per_s_node' with linespoints lw 2 pt 7 title 'total', \
     f using 'n':'udp_bytes_per_s_node' with linespoints pt 5 title 'UDP datagrams', \
     f using 'n':'pushpull_bytes_per_s_node' with linespoints pt 9 title 'TCP push-pull'
set title 'convergence from the first start'
set ylabel 'virtual seconds (log)'
set logscale y
set yrange [*:*]
plot f using 'n':'converge999_s' with linespoints lw 2 pt 7 title '99.9 % of nodes list all alive', \
     f using 'n':'converge100_s' with linespoints pt 9 title 'all nodes', \
     f using 'n':'last_join_s' with linespoints pt 4 title 'last node started'
unset logscale y
set yrange [0:*]
set title 'failure detection after a kill'
set ylabel 'virtual seconds after the kill'
plot f using 'n':'first_suspect_s' with linespoints pt 5 title 'first suspects it', \
     f using 'n':'detect999_s' with linespoints lw 2 pt 7 title '99.9 % list it failed', \
     f using 'n':'detect100_s' with linespoints pt 9 title '100 % list it failed'
unset multiplot
