set terminal pngcairo size 2300,1400 font "sans,10"
set output "proxy.png"
set multiplot layout 3,5 title "swarm manage vs the engine socket directly: latency p50/p90/p99 per step (ms, log scale)  -  2026-11-26 07:23:41 UTC, load 0.07"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key below horizontal maxrows 2 font ",8"
set ylabel "ms"
$api_c1 << EOD
request 0.083739 0.087202 0.095447 0.166207 0.13981 0.240804
ping 0.082681 0.071676 0.093725 0.142023 0.136474 0.198557
ps 0.083111 0.078057 0.09434 0.152823 0.137747 0.204531
inspect 0.086121 0.108905 0.097766 0.193304 0.143821 0.26288
EOD
set xrange [-0.6:3.6]
set title "api c1: 12091 vs 9958 requests/s (manager vs direct)"
plot $api_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$api_c4 << EOD
request 0.064594 0.049101 0.111052 0.167828 0.183517 1.4848
ping 0.064142 0.030678 0.109513 0.150405 0.181088 1.47823
ps 0.063143 0.033664 0.109805 0.157631 0.181037 1.55394
inspect 0.066397 0.055316 0.113738 0.190088 0.188378 1.42325
EOD
set xrange [-0.6:3.6]
set title "api c4: 57990 vs 36368 requests/s (manager vs direct)"
plot $api_c4 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c4 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c4 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c4 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c4 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c4 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$api_c16 << EOD
request 0.228555 0.041827 0.381334 0.303305 0.540838 9.37361
ping 0.22706 0.029851 0.379682 0.332589 0.539372 9.43089
ps 0.228465 0.032931 0.380079 0.286289 0.539391 9.58935
inspect 0.230226 0.054385 0.384254 0.292933 0.543713 9.03089
EOD
set xrange [-0.6:3.6]
set title "api c16: 64831 vs 39901 requests/s (manager vs direct)"
plot $api_c16 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $api_c16 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $api_c16 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $api_c16 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $api_c16 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $api_c16 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$inspect_c1 << EOD
inspect 0.084915 0.097844 0.093665 0.199814 0.13258 0.261526
EOD
set xrange [-0.6:0.6]
set title "inspect c1: 11731 vs 8256 inspects/s (manager vs direct)"
plot $inspect_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $inspect_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $inspect_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $inspect_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $inspect_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $inspect_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$inspect_c16 << EOD
inspect 0.248888 0.052235 0.413286 0.587073 0.58296 10.451
EOD
set xrange [-0.6:0.6]
set title "inspect c16: 59844 vs 30452 inspects/s (manager vs direct)"
plot $inspect_c16 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $inspect_c16 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $inspect_c16 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $inspect_c16 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $inspect_c16 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $inspect_c16 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$inspect_c1_fresh << EOD
inspect 0.340113 0.099415 0.417116 0.201479 0.506461 0.269131
EOD
set xrange [-0.6:0.6]
set title "inspect c1 no-cache: 2878 vs 8158 inspects/s (manager vs direct)"
plot $inspect_c1_fresh using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $inspect_c1_fresh using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $inspect_c1_fresh using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $inspect_c1_fresh using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $inspect_c1_fresh using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $inspect_c1_fresh using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$inspect_c16_fresh << EOD
inspect 1.15689 0.054936 1.8165 0.802396 4.21885 10.2376
EOD
set xrange [-0.6:0.6]
set title "inspect c16 no-cache: 12725 vs 28764 inspects/s (manager vs direct)"
plot $inspect_c16_fresh using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $inspect_c16_fresh using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $inspect_c16_fresh using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $inspect_c16_fresh using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $inspect_c16_fresh using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $inspect_c16_fresh using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$ps_c16 << EOD
ps 0.230123 0.032221 0.375937 0.291223 0.544764 6.64499
EOD
set xrange [-0.6:0.6]
set title "ps c16: 64776 vs 50540 pss/s (manager vs direct)"
plot $ps_c16 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $ps_c16 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $ps_c16 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $ps_c16 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $ps_c16 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $ps_c16 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$run_latency << EOD
run 118.034 97.0895 135.508 114.447 151.06 129.877
create 12.237 11.4753 14.3633 13.3969 20.0635 19.496
start 104.817 84.9057 121.981 100.848 138.193 118.427
EOD
set xrange [-0.6:2.6]
set title "run-latency c1: 8 vs 7 runs/s (manager vs direct)"
plot $run_latency using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $run_latency using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $run_latency using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $run_latency using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $run_latency using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $run_latency using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$churn_c2 << EOD
cycle 192.697 161.299 217.699 178.603 245.078 204.369
create 20.7475 16.9205 29.5847 22.7 39.2938 27.3103
start 137.681 98.5296 174.661 112.439 207.533 134.938
wait 2.49744 37.2441 46.2572 45.0634 67.1519 56.2993
remove 8.91817 8.41118 14.6601 11.8907 20.7917 15.4677
EOD
set xrange [-0.6:4.6]
set title "churn c2: 10 vs 12 cycles/s (manager vs direct)"
plot $churn_c2 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $churn_c2 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $churn_c2 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $churn_c2 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $churn_c2 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $churn_c2 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$logs_c1 << EOD
stream 244.427 207.069 262.238 229.178 285.996 247.268
ttfb 2.32039 1.4155 4.47298 4.46221 5.83842 5.6376
EOD
set xrange [-0.6:1.6]
set title "logs c1: 4 vs 5 streams/s (manager vs direct)"
plot $logs_c1 using 2:xtic(1) title "manager p50" lc rgb "#67001f", \
     $logs_c1 using 3:xtic(1) title "direct p50" lc rgb "#053061", \
     $logs_c1 using 4:xtic(1) title "manager p90" lc rgb "#d6604d", \
     $logs_c1 using 5:xtic(1) title "direct p90" lc rgb "#4393c3", \
     $logs_c1 using 6:xtic(1) title "manager p99" lc rgb "#f4a582", \
     $logs_c1 using 7:xtic(1) title "direct p99" lc rgb "#92c5de"
$logs_c4 << EOD
stream 731.45 640.932 801.195 782.342 867.807 969.649
ttfb 17.7983 23.9529 32.0882 52.3021 54.4304 78.8246
EOD
set xrange [-0.6:1.6]
set title "logs c4: 5 vs 6 streams/s (manager vs direct)"
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
docker-logs 113.353 110.871
exec-i-cat 144.928 219.202
attach-cat 52.0622 55.3998
bench-logs-c1 82.1735 95.8104
bench-logs-c4 108.447 120.711
EOD
set xrange [-0.6:4.6]
plot $streams using 2:xtic(1) title "manager" lc rgb "#67001f", $streams using 3 title "direct" lc rgb "#053061"
unset multiplot
