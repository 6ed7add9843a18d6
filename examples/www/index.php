<?php
// fcgate's example page: what PHP-FPM received from the gateway.
header('Content-Type: text/plain; charset=utf-8');
echo "Hello from PHP ", PHP_VERSION, " through fcgate\n";
foreach (['SCRIPT_FILENAME', 'SCRIPT_NAME', 'PATH_INFO', 'REQUEST_URI', 'DOCUMENT_ROOT', 'SERVER_SOFTWARE'] as $name) {
    printf("%-16s %s\n", $name, $_SERVER[$name] ?? '(unset)');
}
printf("%-16s %s\n", '__FILE__', __FILE__);
printf("%-16s %s\n", 'pool', getenv('FCGATE_POOL') ?: '(not one of the example pools)');
