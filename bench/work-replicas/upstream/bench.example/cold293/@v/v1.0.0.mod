module bench.example/cold293

go 1.21
