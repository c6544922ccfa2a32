set terminal pngcairo size 1500,1000 font "sans,10"
set output "proxy.png"
set multiplot layout 2,3 title "swarm manage vs the engine socket directly: latency p50/p90/p99 per step (ms, log scale)  -  2026-11-25 23:07:11 UTC, load 4.76"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key below horizontal maxrows 2 font ",8"
set ylabel "ms"
$api_c1 << EOD
request 0.066393 0.057146 0.510651 0.108337 0.642843 0.259012
ping 0.040973 0.042719 0.082644 0.071656 0.130077 0.192773
ps 0.027041 0.050405 0.073294 0.088593 0.111883 0.208936
inspect 0.470312 0.069828 0.570295 0.138161 0.850369 0.410985
EOD
set xrange [-0.6:3.6]
set title "api c1: 5042 vs 11947 requests/s (manager vs direct)"
plot $api_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$api_c4 << EOD
request 0.341761 0.115897 1.24597 0.367105 1.8357 1.82448
ping 0.300179 0.098643 0.631576 0.33596 0.812564 1.62035
ps 0.086659 0.105573 0.303737 0.372945 0.679636 1.8261
inspect 1.07804 0.13777 1.47184 0.384664 3.80559 1.99531
EOD
set xrange [-0.6:3.6]
set title "api c4: 7415 vs 19425 requests/s (manager vs direct)"
plot $api_c4 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c4 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c4 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c4 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c4 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c4 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$run_latency << EOD
run 181.016 176.071 210.414 207.532 221.842 256.308
create 28.8831 45.6961 49.0676 74.492 61.9895 83.5875
start 147.833 126.827 181.566 168.056 195.906 187.899
EOD
set xrange [-0.6:2.6]
set title "run-latency c1: 4 vs 4 runs/s (manager vs direct)"
plot $run_latency using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $run_latency using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $run_latency using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $run_latency using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $run_latency using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $run_latency using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$churn_c2 << EOD
cycle 290.57 347.564 378.685 418.59 426.74 567.843
create 44.6711 76.9767 95.07 130.148 139.491 257.561
start 199.161 172.727 260.043 218.451 331.139 320.352
wait 1.63874 45.5246 41.6967 68.5818 79.0556 111.753
remove 28.3054 33.7915 52.1863 87.1103 110.296 110.771
EOD
set xrange [-0.6:4.6]
set title "churn c2: 6 vs 6 cycles/s (manager vs direct)"
plot $churn_c2 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $churn_c2 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $churn_c2 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $churn_c2 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $churn_c2 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $churn_c2 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
unset logscale y
set yrange [0:*]
set ylabel "MB/s"
set title "streams: MB/s (median of 3), higher is better"
$streams << EOD
docker-logs 77.912 103.708
exec-i-cat 78.2473 245.519
EOD
set xrange [-0.6:1.6]
plot $streams using 2:xtic(1) title "manager" lc rgb "#67001f", $streams using 3 title "direct" lc rgb "#053061"
unset multiplot
