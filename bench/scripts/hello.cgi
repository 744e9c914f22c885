#!/bin/sh
# Scenario 1 as CGI: fcgiwrap forks and execs this for every request.
printf 'Content-Type: text/plain\r\n\r\nHello, World!'
