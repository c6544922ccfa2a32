set terminal pngcairo size 1900,1000 font "sans,10"
set output "proxy.png"
set multiplot layout 2,4 title "swarm manage vs the engine socket directly: latency p50/p90/p99 per step (ms, log scale)  -  2026-11-26 05:34:28 UTC, load 4.94"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key below horizontal maxrows 2 font ",8"
set ylabel "ms"
$api_c1 << EOD
request 0.080359 0.067498 0.308411 0.133183 0.375834 0.195442
ping 0.069753 0.055338 0.094429 0.11618 0.122971 0.174188
ps 0.063765 0.060675 0.087932 0.119898 0.114837 0.175144
inspect 0.277262 0.084762 0.344187 0.155654 0.400151 0.215946
EOD
set xrange [-0.6:3.6]
set title "api c1: 7479 vs 12437 requests/s (manager vs direct)"
plot $api_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$api_c4 << EOD
request 0.113001 0.04321 0.404665 0.150186 0.62709 1.19354
ping 0.07662 0.026452 0.15888 0.138094 0.290005 1.22452
ps 0.074828 0.028938 0.16174 0.139042 0.286074 1.2231
inspect 0.34398 0.04777 0.501406 0.16944 0.853185 1.10942
EOD
set xrange [-0.6:3.6]
set title "api c4: 21702 vs 42062 requests/s (manager vs direct)"
plot $api_c4 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c4 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c4 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c4 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c4 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c4 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$api_c16 << EOD
request 0.367862 0.034959 1.19557 0.226812 2.15514 8.36596
ping 0.286139 0.025281 0.518314 0.252901 0.847435 8.84179
ps 0.237484 0.028028 0.460481 0.212858 0.828251 8.47991
inspect 0.992522 0.046022 1.53449 0.217107 3.53964 7.7223
EOD
set xrange [-0.6:3.6]
set title "api c16: 29117 vs 47090 requests/s (manager vs direct)"
plot $api_c16 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c16 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c16 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c16 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c16 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c16 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$inspect_c1 << EOD
inspect 0.297413 0.065195 0.360949 0.135261 0.431777 0.201053
EOD
set xrange [-0.6:0.6]
set title "inspect c1: 3326 vs 11906 inspects/s (manager vs direct)"
plot $inspect_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $inspect_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $inspect_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $inspect_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $inspect_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $inspect_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$inspect_c16 << EOD
inspect 0.98755 0.044834 1.52379 0.466493 3.82102 9.25156
EOD
set xrange [-0.6:0.6]
set title "inspect c16: 14915 vs 35182 inspects/s (manager vs direct)"
plot $inspect_c16 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $inspect_c16 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $inspect_c16 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $inspect_c16 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $inspect_c16 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $inspect_c16 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$ps_c16 << EOD
ps 0.195769 0.027419 0.329574 0.245491 0.465161 5.65099
EOD
set xrange [-0.6:0.6]
set title "ps c16: 75549 vs 60089 pss/s (manager vs direct)"
plot $ps_c16 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $ps_c16 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $ps_c16 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $ps_c16 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $ps_c16 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $ps_c16 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$run_latency << EOD
run 95.2523 80.3422 114.336 94.2851 121.3 111.535
create 10.4374 12.0332 12.8087 13.1389 17.9588 15.7782
start 83.5634 68.3184 103.806 81.8038 108.894 99.025
EOD
set xrange [-0.6:2.6]
set title "run-latency c1: 9 vs 9 runs/s (manager vs direct)"
plot $run_latency using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $run_latency using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $run_latency using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $run_latency using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $run_latency using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $run_latency using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$churn_c2 << EOD
cycle 138.109 128.33 150.656 142.041 168.496 157.083
create 15.6194 14.1574 19.3393 18.0642 24.2065 23.7079
start 106.865 79.2852 124.103 91.5601 134.571 102.031
wait 1.35856 28.1665 31.8761 32.5914 41.6018 42.4694
remove 6.87212 6.91783 9.26022 9.36783 11.2346 17.3664
EOD
set xrange [-0.6:4.6]
set title "churn c2: 14 vs 15 cycles/s (manager vs direct)"
plot $churn_c2 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $churn_c2 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $churn_c2 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $churn_c2 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $churn_c2 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $churn_c2 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$logs_c1 << EOD
stream 189.227 161.586 208.217 179.191 220.015 193.068
ttfb 1.50404 1.18003 4.88004 4.27112 7.2534 8.17979
EOD
set xrange [-0.6:1.6]
set title "logs c1: 5 vs 6 streams/s (manager vs direct)"
plot $logs_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $logs_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $logs_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $logs_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $logs_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $logs_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$logs_c4 << EOD
stream 603.344 533.784 647.594 651.325 685.438 736.273
ttfb 14.25 24.3412 25.6186 47.0019 50.9002 64.8418
EOD
set xrange [-0.6:1.6]
set title "logs c4: 6 vs 7 streams/s (manager vs direct)"
plot $logs_c4 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $logs_c4 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $logs_c4 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $logs_c4 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $logs_c4 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $logs_c4 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
unset logscale y
set yrange [0:*]
set ylabel "MB/s"
set title "streams, MB/s (higher is better; CLI: median of 3)"
$streams << EOD
docker-logs 150.161 159.413
exec-i-cat 191.957 278.203
attach-cat 73.3541 79.9361
bench-logs-c1 104.48 121.68
bench-logs-c4 131.796 148.734
EOD
set xrange [-0.6:4.6]
plot $streams using 2:xtic(1) title "manager" lc rgb "#67001f", $streams using 3 title "direct" lc rgb "#053061"
unset multiplot
