set terminal pngcairo size 960,540 font ',10'
set output '/work/main/bench/results/scale-fill.png'
set title "POST /containers/create through the manager, by containers already placed (4 concurrent clients)"
set xlabel 'containers already placed'
set ylabel 'create latency, ms (log)'
set logscale y
set grid
set key top left box opaque
set datafile separator ','
plot '/work/main/bench/results/scale-fill-50.csv' every 5 u 1:3 skip 1 w p pt 7 ps 0.3 lc 1 t 'N = 50', \
     '/work/main/bench/results/scale-fill-100.csv' every 5 u 1:3 skip 1 w p pt 7 ps 0.3 lc 2 t 'N = 100', \
     '/work/main/bench/results/scale-fill-200.csv' every 5 u 1:3 skip 1 w p pt 7 ps 0.3 lc 3 t 'N = 200', \
     '/work/main/bench/results/scale-fill-1000.csv' every 5 u 1:3 skip 1 w p pt 7 ps 0.3 lc 4 t 'N = 1000'
