module bench.example/cold279

go 1.21
