#!/bin/sh
echo "hello from tbuild: $(cat /app/count)"
