module bench.example/cold217

go 1.21
