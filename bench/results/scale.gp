set terminal pngcairo size 960,600 font ',10'
set output '/work/main/bench/results/scale.png'
set title "Latency through the manager vs N (hollow engines, 30 containers per node, one 2-CPU machine)"
set xlabel 'nodes (N)'
set ylabel 'ms (log)'
set logscale xy
set grid
set key top left box opaque font ',9'
set xrange [30:1500]
set yrange [0.1:2000]
set arrow from 30,15 to 1500,15 nohead dt 3 lc rgb '#d62728'
set label 'goal for info p50 (classic / 10)' at 35,18 tc rgb '#d62728' font ',8'
set arrow from 30,23 to 1500,23 nohead dt 3 lc rgb 'black'
set label 'goal for run p50 (classic / 10)' at 35,28 tc rgb 'black' font ',8'
plot '/work/main/bench/results/scale.dat' u 1:2 w lp pt 7 lc 1 t 'docker info (CLI) p50', \
     '' u 1:3 w lp pt 6 dt 2 lc 1 t 'docker info (CLI) p99', \
     '' u 1:4 w lp pt 5 lc 2 t 'GET /info p50', \
     '' u 1:5 w lp pt 4 dt 2 lc 2 t 'GET /info p99', \
     '' u 1:6 w lp pt 9 lc 3 t 'run -d (API create+start) p50', \
     '' u 1:7 w lp pt 8 dt 2 lc 3 t 'run -d (API) p99', \
     '' u 1:8 w lp pt 11 lc 4 t 'run -d (CLI) p50', \
     '' u 1:9 w lp pt 10 dt 2 lc 4 t 'run -d (CLI) p99', \
     '-' w p pt 13 ps 2 lc rgb '#d62728' t 'classic, 1,000 nodes: info p50 / p99', \
     '-' w p pt 15 ps 2 lc rgb 'black' t 'classic, 1,000 nodes: run p50 / p99'
1000 150
1000 360
e
1000 230
1000 400
e
