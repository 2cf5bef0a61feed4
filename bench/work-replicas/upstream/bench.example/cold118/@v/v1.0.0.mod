module bench.example/cold118

go 1.21
